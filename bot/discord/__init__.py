"""Everything that speaks Discord: the client, its cogs, embeds, views and the front end's own words."""
