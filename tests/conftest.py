"""Shared pytest fixtures: the real Kafka broker harness (see tests/kafka_broker.py)."""

from kafka_broker import kafka_bootstrap, kafka_broker  # noqa: F401
