# HEALTHCHECK probe: GET http://127.0.0.1:<port><path>, healthy on 2xx/3xx. Arguments: port, path.
# Uses only the Sockets stdlib, so it works whatever HTTP package the app uses.
using Sockets

port = parse(Int, ARGS[1])
path = ARGS[2]
status = try
    sock = connect(ip"127.0.0.1", port)
    write(sock, "GET $(path) HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    line = readline(sock)
    close(sock)
    parts = split(line)
    length(parts) >= 2 ? parse(Int, parts[2]) : 0
catch err
    println(stderr, "healthcheck: ", sprint(showerror, err))
    0
end
exit(200 <= status < 400 ? 0 : 1)
