from crawler.cli.main import main

if __name__ == "__main__":  # spawned extraction workers import this module too
    main()
