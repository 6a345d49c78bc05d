"""Deployment recipes: the one-machine cluster (PostgreSQL, replicas, nginx)."""
