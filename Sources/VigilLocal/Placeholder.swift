let placeholderVigilLocal = 0
