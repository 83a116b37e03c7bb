from rsvp.bot import plugin

if __name__ == "__main__":
    plugin.run()
