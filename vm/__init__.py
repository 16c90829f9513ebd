"""Deed VM."""
