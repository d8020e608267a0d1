using GreetService

GreetService.main()
