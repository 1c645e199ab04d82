import Foundation
import VigilCLI

VigilMain.installExecutor()
exit(await VigilMain.run())
