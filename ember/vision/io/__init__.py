"""ember.vision.io (being written)."""
