let placeholderVigilCLI = 0
