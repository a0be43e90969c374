"""The pygame-ce touchscreen. Renders one typed view per screen, emits typed intents; knows nothing of devices."""
