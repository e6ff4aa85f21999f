"""A small Python client for followgate.

Needs Debian's python3-grpcio and python3-protobuf, and the stubs generated
from protos/ (see README.md, "Clients in other languages"):

    from followgate_client import FollowgateClient
    client = FollowgateClient("127.0.0.1:50051")
    for edge in client.followers("urn:li:organizationalPage:1000"):
        print(edge.follower.urn)

Errors surface as grpc.RpcError with the server's status code and message.
"""

import grpc

from followgate.v1 import follows_pb2
from followgate.v1 import follows_pb2_grpc

_FILTERS = {
    "members": follows_pb2.FOLLOWER_FILTER_MEMBERS,
    "pages": follows_pb2.FOLLOWER_FILTER_ORGANIZATIONAL_PAGES,
    "all": follows_pb2.FOLLOWER_FILTER_ALL,
}


class FollowgateClient:
    """Streams follow edges from a followgate server over one channel."""

    def __init__(self, target, credentials=None, channel=None):
        if channel is None:
            channel = (grpc.secure_channel(target, credentials)
                       if credentials is not None else grpc.insecure_channel(target))
        self._channel = channel
        self._follows = follows_pb2_grpc.FollowsServiceStub(channel)

    def close(self):
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def follower_pages(self, followee, edge_type="all", timeout=None):
        """Yields FollowerPage messages for `followee` (an organizational page URN)."""
        if edge_type not in _FILTERS:
            raise ValueError("edge_type must be one of %s" % sorted(_FILTERS))
        request = follows_pb2.StreamFollowersRequest(
            followee=followee, follower_filter=_FILTERS[edge_type])
        yield from self._follows.StreamFollowers(request, timeout=timeout)

    def followers(self, followee, edge_type="all", timeout=None):
        """Yields every FollowEdge of `followee`'s followers, page after page."""
        for page in self.follower_pages(followee, edge_type, timeout):
            yield from page.edges

    def following(self, follower, timeout=None):
        """Yields every FollowEdge from `follower` to the pages it follows."""
        request = follows_pb2.StreamFollowingRequest(follower=follower)
        for page in self._follows.StreamFollowing(request, timeout=timeout):
            yield from page.edges
