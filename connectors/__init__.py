"""Edges of the system: the feed contract, feed sources, output sinks, notification channels
and the plugin registry that finds them."""
