"""milink: Managed Instance link in the terminal."""
