"""newswatch: news-monitoring crawler."""
