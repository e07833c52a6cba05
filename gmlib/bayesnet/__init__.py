"""Bayesian networks over discrete variables, and naive Bayes (lectures 01-02)."""

from gmlib.bayesnet.examples import sprinkler_network, student_network
from gmlib.bayesnet.naive_bayes import NaiveBayes
from gmlib.bayesnet.network import DiscreteBayesNet

__all__ = ["DiscreteBayesNet", "NaiveBayes", "sprinkler_network", "student_network"]
