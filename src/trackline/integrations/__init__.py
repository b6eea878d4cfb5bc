"""Framework integrations. Each imports its framework lazily, inside the call that needs it."""
