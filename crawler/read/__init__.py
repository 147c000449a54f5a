"""The read side: queries, Atom feed, Datasette, webhook notification."""
