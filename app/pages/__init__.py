"""The workflow's pages: Welcome, Scan, Preprocess, Reconstruct (with the tuner), Inspect."""
