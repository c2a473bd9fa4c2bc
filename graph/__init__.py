"""The graph room: the property-graph model and the stores that keep it (embedded SQLite, Neo4j)."""
