"""Camera images: decoding messages, size limits before decoding, preprocessing for OFA."""
