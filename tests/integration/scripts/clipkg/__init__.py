"""A package for `ember run -m clipkg.tool`."""
