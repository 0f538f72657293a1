"""The program by domain: each module builds one part of the platform from the loaded config and
what earlier domains built, and returns what later ones need. __main__.py calls them in order."""
