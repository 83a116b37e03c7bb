from coins.app import build

plugin = build()

if __name__ == "__main__":
    plugin.run()
