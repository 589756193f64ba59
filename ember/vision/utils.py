"""ember.vision.utils (being written)."""
