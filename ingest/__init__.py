"""The ingest room: read a data package (CSV folder or .xlsx workbook), validate it, resolve names, load it."""
