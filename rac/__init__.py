"""The platform's composition root: the one package that knows every service.

Services declare themselves (``services/<name>/manifest.py``, ``gateway/manifest.py``);
``rac.registry`` lists them, and the operators' command line (``rac.cli``) migrates, serves,
relays, runs jobs and seeds the demo through that list. Nothing imports this package but
its entry point: the shared package (``rac_shared``) and the services stay below it.
"""
