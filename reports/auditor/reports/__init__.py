"""Built-in renderers of the signed report (templates beside this module)."""
