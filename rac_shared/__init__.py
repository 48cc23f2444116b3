"""Code every RAC service needs: settings, database, events and outbox, clock, formatting.

Kept deliberately small: anything domain-specific belongs to the service that owns it.
"""

import warnings

# nameko 2.14 runs on eventlet by design; its deprecation banner is noise for operators.
warnings.filterwarnings("ignore", message="\\s*Eventlet is deprecated")
