"""Tenant branding: the name, logo and accent colour the desk, console and survey pages show."""
