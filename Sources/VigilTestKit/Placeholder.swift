let placeholderVigilTestKit = 0
