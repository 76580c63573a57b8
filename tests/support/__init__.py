"""What the tests stand on: the scripted model, the server process, API and security clients."""
