"""What each corpus project must produce: a Dockerfile (with these facts) or this exact error."""

from __future__ import annotations

# Two corpus projects depend on a path package that the corpus does not include: the right answer is an error.
# Which one depends on where the corpus lies: in no git repository, the path lies outside the project (the root);
# inside this checkout (a repository), it is looked for and not found.
ERRORS = {
    "09-ConnectedSystems--kora-dashboard": (
        "Manifest.toml: path dependency Kora at '../Kora.jl' lies outside the project (",
        "Manifest.toml: path dependency Kora at '../Kora.jl': directory not found"),
    "15-AlexBatrakov--TrainChinese--cli": (
        "Manifest.toml: path dependency TrainChinese at '..' lies outside the project (",
        "Manifest.toml: path dependency TrainChinese at '..': no Project.toml in"),
}

# project -> (Julia version, manifest it must use, PackageCompiler range); format-1.0 manifests get the last 1.6
GENERATES = {
    "01-open-AIMS--ReefGuideAPI.jl": ("1.11.5", "Manifest-v1.11.toml", "2.4"),
    "02-Deltares--Ribasim": ("1.12.7", "Manifest.toml", "2.4"),
    "03-gerardoblancopy--Munus": ("1.12.4", "Manifest.toml", "2.4"),
    "04-mattborghi--pluto-deploy--pluto-deployment-environment": ("1.6.7", "Manifest.toml", "2.1"),  # format 1.0
    "05-kharchenkolab--Baysor": ("1.11.1", "Manifest-v1.11.toml", "2.4"),
    "06-JuliaComputing--xtrx_julia": ("1.8.3", "JuliaManifest.toml", "2.1"),
    "07-2HgO--GenieServer": ("1.6.7", "Manifest.toml", "2.1"),  # format 1.0
    "08-stefanjwojcik--misinfo_app": ("1.10.4", "Manifest.toml", "2.4"),
    "10-cbrnalert--CbrnAlert--backend": ("1.10.10", "Manifest.toml", "2.4"),
    "11-caliconphius--farey-server--backend": ("1.12.5", "Manifest.toml", "2.4"),
    "12-TuftsCTSI--TRDW.jl": ("1.11.4", "Manifest.toml", "2.4"),
    "13-JuliaPluto--featured": ("1.7.3", "Manifest.toml", "2.1"),
    "14-meeheal--dashapp2": ("1.6.7", "Manifest.toml", "2.1"),  # format 1.0
    "16-legend-exp--legend-julia-environments--base": ("1.12.4", "Manifest-v1.12.toml", "2.4"),
    "17-UofS-CEPHIL--modelcollab--server": ("1.9.2", "Manifest.toml", "2.1"),
    "18-Fro116--RecommenderSystem--notebooks-Microservices-transformer_jl-App": ("1.10.2", "Manifest.toml", "2.4"),
    "19-naokirin--mianalyzer_backend--app": ("1.6.7", "Manifest.toml", "2.1"),  # format 1.0
    "20-New-Earth-Lab--ImgCalibService.jl": ("1.11.0-rc3", "Manifest.toml", "2.4"),
    "21-Olarm--my-dashboard--backend-test": ("1.9.0", "Manifest.toml", "2.1"),
    "22-vitorhirata--campaspe-integrated-model": ("1.12.1", "Manifest-v1.12.toml", "2.4"),
}
