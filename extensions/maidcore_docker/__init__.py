"""maidcore's default sandbox backend: plugin workers in locked-down Docker containers."""
