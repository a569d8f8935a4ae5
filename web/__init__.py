"""The risk desk's workspace: a web application over a run's outputs (``creditradar serve``)."""
