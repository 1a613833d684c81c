"""File readers: one function per file kind, each returning raw arrays plus JSON-able metadata.

``read_image(path)`` dispatches on the suffix. Every reader returns a list of :class:`Decoded`
(one per frame: DICOM multi-frame files expand to several) and raises ``BadFileError`` naming the
file on anything unreadable.
"""
