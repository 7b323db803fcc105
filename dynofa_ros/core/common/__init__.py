"""What every part shares: configuration files, the catalog, paths, the system's node list."""
