"""`python -m gmlib.metrics`: re-run the digit classifier's recipe and rewrite its shipped
weights (`gmlib/metrics/digit_classifier_v*.pt` and the sidecar .json with their SHA-256).

Every sample-quality number in the book and the leaderboard changes with these weights:
re-run `make bench` and `make book` after rewriting them.
"""

from gmlib.metrics.classifier import train_digit_classifier, write_digit_classifier

if __name__ == "__main__":
    trained = train_digit_classifier()
    written = write_digit_classifier(trained)
    print(f"wrote {written}; held-out accuracy {trained.held_out_accuracy}")
