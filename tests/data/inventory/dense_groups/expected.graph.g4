@g4:
  |--@g5:
  |  |--@g6:
  |  |  |--h6
  |  |  |--shared
  |  |--h5
  |  |--shared
  |--@g6:
  |  |--h6
  |  |--shared
  |--h4
  |--shared
