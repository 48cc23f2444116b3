"""The applications service: owns its database and talks to others only over RabbitMQ."""
