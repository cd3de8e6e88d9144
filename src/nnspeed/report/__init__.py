"""Terminal tables, JSON documents and (later) HTML reports."""
