"""ember.vision.transforms.v2 (being written)."""
