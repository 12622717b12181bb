"""Input: audio files decoded exactly (decode), arrays and files brought to the network's
clips (clips), what valid audio is (audio), and lists of files from folders and CSV manifests
(manifests)."""
