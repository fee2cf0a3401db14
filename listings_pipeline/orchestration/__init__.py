"""Orchestration: when each source config runs, and which partitions exist."""
