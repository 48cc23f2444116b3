"""The scoring service: owns its database and talks to others only over RabbitMQ."""
