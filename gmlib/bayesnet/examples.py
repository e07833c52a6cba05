"""Two classic small networks with their textbook tables, for lectures, tests and exercises."""

from __future__ import annotations

from gmlib.bayesnet.network import DiscreteBayesNet

__all__ = ["sprinkler_network", "student_network"]


def student_network() -> DiscreteBayesNet:
    """The student network of Koller & Friedman (2009, figure 3.4).

    Difficulty D and Intelligence I (0: low, 1: high) cause the Grade G (0: A, 1: B, 2: C);
    I causes the SAT score S (0: low, 1: high); G causes the recommendation Letter L
    (0: weak, 1: strong). Variables in the order D, I, G, S, L.
    """
    net = DiscreteBayesNet({"D": [], "I": [], "G": ["D", "I"], "S": ["I"], "L": ["G"]},
                           {"D": 2, "I": 2, "G": 3, "S": 2, "L": 2})
    net.set_cpt("D", [0.6, 0.4])
    net.set_cpt("I", [0.7, 0.3])
    net.set_cpt("G", [[[0.3, 0.4, 0.3], [0.9, 0.08, 0.02]],      # D = 0; I = 0, then I = 1
                      [[0.05, 0.25, 0.7], [0.5, 0.3, 0.2]]])     # D = 1
    net.set_cpt("S", [[0.95, 0.05], [0.2, 0.8]])
    net.set_cpt("L", [[0.1, 0.9], [0.4, 0.6], [0.99, 0.01]])
    return net


def sprinkler_network() -> DiscreteBayesNet:
    """The sprinkler network (Murphy 2023; Russell & Norvig): Cloudy -> Sprinkler, Rain -> Wet.

    All variables binary (1: true), in the order cloudy, sprinkler, rain, wet.
    """
    net = DiscreteBayesNet({"cloudy": [], "sprinkler": ["cloudy"], "rain": ["cloudy"],
                            "wet": ["sprinkler", "rain"]}, 2)
    net.set_cpt("cloudy", [0.5, 0.5])
    net.set_cpt("sprinkler", [[0.5, 0.5], [0.9, 0.1]])
    net.set_cpt("rain", [[0.8, 0.2], [0.2, 0.8]])
    net.set_cpt("wet", [[[1.0, 0.0], [0.1, 0.9]], [[0.1, 0.9], [0.01, 0.99]]])
    return net
