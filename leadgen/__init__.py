"""Pure code the program, the pack tooling and platformctl share: config, CIDR maths, naming."""
