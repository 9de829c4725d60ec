"""Sandbox Dockerfiles and the registry-free base image scripts, shipped as package data."""
