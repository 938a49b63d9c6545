"""The Flask service: upload an image, get the digit, the probabilities and every neuron's activation."""


def create_app(config=None):
    """Build the Flask app (see service.app.create_app)."""
    from service.app import create_app as _create_app

    return _create_app(config)
