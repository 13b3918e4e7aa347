"""The settings and URLs of the example project."""
