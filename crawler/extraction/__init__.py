"""Article extraction: trafilatura plus pruning of banners, teasers and plugs; page metadata."""
